// Makes the bundled sample images (public/samples/*.png) procedurally, so the app ships
// pictures we own outright. PNG encoding by sharp (already a dependency; 2.7 ms against 11.8 ms
// for our former zlib encoder on a 336² picture, docs/ARCHITECTURE.md "Libraries").
// Run: node scripts/make-samples.mjs   (writes public/samples/, overwrites)
import sharp from 'sharp';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SIZE = 336; // LLaVA-1.5's input size: the patch grid lines up 1:1 with 14-px patches
const SUPERSAMPLE = 3; // 3×3 samples per pixel for smooth edges

/** rgb: Uint8Array (H*W*3) → PNG bytes (8-bit truecolour). */
export function encodePng(width, height, rgb) {
  return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** shade(x, y) with x, y in [0,1) → [r,g,b] in 0..255; averaged over SUPERSAMPLE² points. */
function render(shade) {
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  for (let py = 0; py < SIZE; py++) {
    for (let px = 0; px < SIZE; px++) {
      let r = 0,
        g = 0,
        b = 0;
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const c = shade((px + (sx + 0.5) / SUPERSAMPLE) / SIZE, (py + (sy + 0.5) / SUPERSAMPLE) / SIZE);
          r += c[0];
          g += c[1];
          b += c[2];
        }
      }
      const n = SUPERSAMPLE * SUPERSAMPLE,
        o = (py * SIZE + px) * 3;
      rgb[o] = Math.round(r / n);
      rgb[o + 1] = Math.round(g / n);
      rgb[o + 2] = Math.round(b / n);
    }
  }
  return rgb;
}
const mix = (a, b, t) => a.map((v, i) => v + (b[i] - v) * t);

// 1. Shapes: a red disc, a blue square, a yellow triangle and a green ring on paper.
const shapes = render((x, y) => {
  const d = (cx, cy) => Math.hypot(x - cx, y - cy);
  if (d(0.3, 0.3) < 0.16) return [214, 48, 49];
  if (x > 0.58 && x < 0.86 && y > 0.16 && y < 0.44) return [40, 90, 200];
  if (y > 0.58 && y < 0.88 && Math.abs(x - 0.3) < (y - 0.58) * 0.6) return [240, 190, 30];
  const r = d(0.72, 0.73);
  if (r > 0.09 && r < 0.15) return [40, 160, 90];
  return [246, 243, 236];
});

// 2. Landscape: sky gradient, a sun, two rolling hills and a lake.
const landscape = render((x, y) => {
  const hillFar = 0.55 + 0.06 * Math.sin(x * 7 + 1);
  const hillNear = 0.68 + 0.05 * Math.sin(x * 11 + 3);
  if (y > 0.8 && Math.abs(x - 0.62) < 0.3 - (y - 0.8) * 0.4) return mix([70, 130, 190], [40, 90, 150], (y - 0.8) / 0.2);
  if (y > hillNear) return mix([70, 140, 60], [40, 100, 40], (y - hillNear) / 0.3);
  if (y > hillFar) return [110, 160, 90];
  if (Math.hypot(x - 0.75, y - 0.22) < 0.08) return [255, 214, 90];
  return mix([120, 180, 235], [230, 240, 250], y / hillFar);
});

// 3. Bar chart: five bars of different heights on a white ground with an axis line.
const heights = [0.35, 0.6, 0.85, 0.45, 0.25];
const colours = [
  [78, 121, 167],
  [242, 142, 43],
  [225, 87, 89],
  [118, 183, 178],
  [89, 161, 79],
];
const chart = render((x, y) => {
  if (y > 0.88 && y < 0.895 && x > 0.08 && x < 0.94) return [40, 40, 40];
  if (x > 0.08 && x < 0.095 && y > 0.06 && y < 0.895) return [40, 40, 40];
  for (let i = 0; i < 5; i++) {
    const left = 0.14 + i * 0.16;
    if (x > left && x < left + 0.11 && y < 0.88 && y > 0.88 - heights[i] * 0.8) return colours[i];
  }
  return [255, 255, 255];
});

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'samples');
mkdirSync(outDir, { recursive: true });
for (const [name, rgb] of [
  ['shapes', shapes],
  ['landscape', landscape],
  ['chart', chart],
]) {
  writeFileSync(join(outDir, `${name}.png`), await encodePng(SIZE, SIZE, rgb));
  console.log(`wrote public/samples/${name}.png`);
}
