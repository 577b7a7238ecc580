import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SHADERS } from './shaders.generated';
import { SHADER_INDEX_PATH, renderShaderIndex } from './gen-shaders';
import { dawnDevice } from './testing/dawn';

describe('shaders/', () => {
  it('shaders.generated.ts is up to date (run: npx tsx src/gpu/gen-shaders.ts)', () => {
    expect(readFileSync(SHADER_INDEX_PATH, 'utf8')).toBe(renderShaderIndex());
  });

  it('every shader compiles on Dawn without errors or warnings', async () => {
    const device = await dawnDevice();
    const problems: string[] = [];
    for (const [name, code] of Object.entries(SHADERS)) {
      const module = device.createShaderModule({ label: `test.${name}`, code });
      const info = await module.getCompilationInfo();
      for (const m of info.messages) problems.push(`${name}.wgsl:${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`);
    }
    expect(problems).toEqual([]);
  });
});
