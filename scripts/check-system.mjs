#!/usr/bin/env node
// Before the tests: Debian's Chromium (Playwright e2e; its SwiftShader Vulkan driver also gives
// Dawn an adapter in Node) and the Vulkan loader must be installed. Installs them when running as
// root on Debian, otherwise says exactly what to run.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const missing = [];
if (!existsSync('/usr/bin/chromium') && !process.env.CHROMIUM_PATH) missing.push('chromium');
const hasVulkan = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1',
].some((p) => existsSync(p));
if (!hasVulkan) missing.push('libvulkan1');
if (missing.length === 0) process.exit(0);

const command = `apt-get install -y ${missing.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && existsSync('/usr/bin/apt-get')) {
  console.log(`tests need ${missing.join(' and ')}: running ${command}`);
  execSync(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${command}`, { stdio: 'inherit' });
} else {
  console.error(`tests need ${missing.join(' and ')}; install with: sudo ${command}`);
  process.exit(1);
}
