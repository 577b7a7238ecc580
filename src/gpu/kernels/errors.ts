/** Typed errors of the kernel layer: they name the tensor and carry expected/got (STYLE.md rule 6). */
export class KernelInputError extends Error {
  constructor(
    readonly kernel: string,
    readonly tensor: string,
    readonly expected: string,
    readonly got: string,
  ) {
    super(`${kernel}: ${tensor} expected ${expected}, got ${got}`);
    this.name = 'KernelInputError';
  }
}

export function checkLength(kernel: string, tensor: string, arr: ArrayLike<number>, expected: number): void {
  if (arr.length < expected) throw new KernelInputError(kernel, tensor, `≥ ${expected} elements`, `${arr.length}`);
}
