/**
 * One WebAssembly SIMD kernel, assembled here byte by byte (no toolchain needed at build or run time):
 *
 *   gemm_nt(a, b, c, M, N, K):  C[i,j] = Σ_k A[i,k] · B[j,k]     (float32, row-major, byte pointers)
 *
 * A is [M, K], B is [N, K], C is [M, N]; M and N must be even, K a multiple of 4 (callers pad with
 * zeros). 2×2 output blocks, four f32x4 accumulators, lanes summed as (l0 + l1) + (l2 + l3).
 * The three products of an MLP's forward and backward passes are all of this form
 * (rl/kernels/mlp.ts). Each instance owns its memory (exported as `mem`).
 */

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (i32 constants). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const str = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];

// locals: params 0..5 (a, b, c, M, N, K), then i32 6..13, v128 14..21
const [A, B, C, M, N, K] = [0, 1, 2, 3, 4, 5];
const [I, J, KK, AR0, AR1, BR0, BR1, KB] = [6, 7, 8, 9, 10, 11, 12, 13];
const [ACC00, ACC01, ACC10, ACC11, VA0, VA1, VB0, VB1] = [14, 15, 16, 17, 18, 19, 20, 21];

const get = (l: number) => [0x20, ...uleb(l)];
const set = (l: number) => [0x21, ...uleb(l)];
const i32 = (v: number) => [0x41, ...sleb(v)];
const ADD = 0x6a, MUL = 0x6c, GE_U = 0x4f;
const simd = (op: number) => [0xfd, ...uleb(op)];
const V_LOAD = (off = 0) => [...simd(0x00), 0x04, ...uleb(off)];
const F32X4_ADD = simd(0xe4), F32X4_MUL = simd(0xe6);
const V_ZERO = [...simd(0x0c), ...new Array<number>(16).fill(0)];
const lane = (k: number) => [...simd(0x1f), k];
const F32_ADD = 0x92;
const F32_STORE = (off: number) => [0x38, 0x02, ...uleb(off)];
const BLOCK = [0x02, 0x40], LOOP = [0x03, 0x40], END = 0x0b;
const BR = (d: number) => [0x0c, d], BR_IF = (d: number) => [0x0d, d];

/** acc ← acc + x·y (f32x4). */
const fma = (acc: number, x: number, y: number) => [...get(acc), ...get(x), ...get(y), ...F32X4_MUL, ...F32X4_ADD, ...set(acc)];
/** Pushes (l0 + l1) + (l2 + l3) of a v128 local. */
const hsum = (v: number) => [...get(v), ...lane(0), ...get(v), ...lane(1), F32_ADD, ...get(v), ...lane(2), ...get(v), ...lane(3), F32_ADD, F32_ADD];

function gemmBody(): number[] {
  const kLoop = [
    ...BLOCK, ...LOOP,
    ...get(KK), ...get(KB), GE_U, ...BR_IF(1),
    ...get(AR0), ...get(KK), ADD, ...V_LOAD(), ...set(VA0),
    ...get(AR1), ...get(KK), ADD, ...V_LOAD(), ...set(VA1),
    ...get(BR0), ...get(KK), ADD, ...V_LOAD(), ...set(VB0),
    ...get(BR1), ...get(KK), ADD, ...V_LOAD(), ...set(VB1),
    ...fma(ACC00, VA0, VB0), ...fma(ACC01, VA0, VB1), ...fma(ACC10, VA1, VB0), ...fma(ACC11, VA1, VB1),
    ...get(KK), ...i32(16), ADD, ...set(KK),
    ...BR(0), END, END,
  ];
  // address of C[i, j] = c + (i·N + j)·4 is left on the stack for each store
  const cij = (di: number) => [...get(C), ...get(I), ...i32(di), ADD, ...get(N), MUL, ...get(J), ADD, ...i32(4), MUL, ADD];
  const jLoop = [
    ...BLOCK, ...LOOP,
    ...get(J), ...get(N), GE_U, ...BR_IF(1),
    ...get(B), ...get(J), ...get(KB), MUL, ADD, ...set(BR0),
    ...get(BR0), ...get(KB), ADD, ...set(BR1),
    ...V_ZERO, ...set(ACC00), ...V_ZERO, ...set(ACC01), ...V_ZERO, ...set(ACC10), ...V_ZERO, ...set(ACC11),
    ...i32(0), ...set(KK),
    ...kLoop,
    ...cij(0), ...hsum(ACC00), ...F32_STORE(0),
    ...cij(0), ...hsum(ACC01), ...F32_STORE(4),
    ...cij(1), ...hsum(ACC10), ...F32_STORE(0),
    ...cij(1), ...hsum(ACC11), ...F32_STORE(4),
    ...get(J), ...i32(2), ADD, ...set(J),
    ...BR(0), END, END,
  ];
  const iLoop = [
    ...BLOCK, ...LOOP,
    ...get(I), ...get(M), GE_U, ...BR_IF(1),
    ...get(A), ...get(I), ...get(KB), MUL, ADD, ...set(AR0),
    ...get(AR0), ...get(KB), ADD, ...set(AR1),
    ...i32(0), ...set(J),
    ...jLoop,
    ...get(I), ...i32(2), ADD, ...set(I),
    ...BR(0), END, END,
  ];
  const code = [...get(K), ...i32(4), MUL, ...set(KB), ...i32(0), ...set(I), ...iLoop, END];
  const locals = vec([[...uleb(8), 0x7f], [...uleb(8), 0x7b]]);
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

/** The module's bytes: one function `gemm`, one exported memory `mem` of `pages` 64 KiB pages. */
function moduleBytes(pages: number): Uint8Array {
  const type = section(1, vec([[0x60, ...vec(new Array(6).fill([0x7f])), 0x00]]));
  const func = section(3, vec([uleb(0)]));
  const mem = section(5, vec([[0x00, ...uleb(pages)]]));
  const exp = section(7, vec([[...str('gemm'), 0x00, ...uleb(0)], [...str('mem'), 0x02, ...uleb(0)]]));
  const code = section(10, vec([gemmBody()]));
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...type, ...func, ...mem, ...exp, ...code]);
}

/** The few WebAssembly APIs used (the project's TypeScript lib has no WebAssembly declarations). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** An instance: its memory and the kernel. */
export interface GemmInstance {
  memory: WasmMemory;
  gemm(a: number, b: number, c: number, m: number, n: number, k: number): void;
}

const modules = new Map<number, object>();

/** A fresh instance with at least `bytes` of memory (synchronous; the module is compiled once per size). */
export function gemmInstance(bytes: number): GemmInstance {
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  let mod = modules.get(pages);
  if (!mod) {
    mod = new WA.Module(moduleBytes(pages));
    modules.set(pages, mod);
  }
  const ex = new WA.Instance(mod, {}).exports as { gemm: GemmInstance['gemm']; mem: WasmMemory };
  return { memory: ex.mem, gemm: ex.gemm };
}
