/**
 * One WebAssembly SIMD kernel, assembled here byte by byte (no toolchain needed at build or run time):
 *
 *   gemm(a, b, c, M, N, K, sI, sK, ep, flags):  C[i,j] = act(Σ_k A(i,k) · B[k,j] + bias[j])
 *
 * (float32, byte pointers). The epilogue operand `ep` is, by flags: 1, a bias vector [N] added after
 * the sum; 2, act = max(·, 0) (else the identity); 4, a matrix [M, N] whose cells ≤ 0 (or NaN)
 * zero C's (backpropagation through a relu). Each applied in float32, as separate ops would.
 *
 * A(i,k) is the float at byte a + i·sI + k·sK, so one kernel reads A plain (sI = 4K, sK = 4) or
 * transposed (sI = 4, sK = 4M); B is row-major [K, N], C row-major [M, N] (overwritten). M must be a
 * multiple of 4 and N of 8 (callers pad with zeros). Blocks of 4 rows × 8 columns in eight f32x4
 * accumulators: per k, two B vectors and four broadcast A values; each lane sums its k in order
 * (multiply, then add, in float32). The three products of an MLP's forward and backward passes are
 * all of this form (rl/kernels/mlp.ts). Each instance owns its memory (exported as `mem`).
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

// locals: params 0..9 (a, b, c, M, N, K, sI, sK, ep, flags), then i32 10..19, v128 20..30
const [A, B, C, M, N, K, SI, SK, EP, FLAGS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const [I, J, KK, P0, P1, P2, P3, PB, NB, PC] = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
const ACC = [20, 21, 22, 23, 24, 25, 26, 27];
const [VB0, VB1, S] = [28, 29, 30];
const PA = [P0, P1, P2, P3];

const get = (l: number) => [0x20, ...uleb(l)];
const set = (l: number) => [0x21, ...uleb(l)];
const i32 = (v: number) => [0x41, ...sleb(v)];
const ADD = 0x6a, MUL = 0x6c, GE_U = 0x4f;
const simd = (op: number) => [0xfd, ...uleb(op)];
const V_LOAD = (off = 0) => [...simd(0x00), 0x04, ...uleb(off)];
const V_STORE = (off = 0) => [...simd(0x0b), 0x04, ...uleb(off)];
const F32_LOAD = [0x2a, 0x02, 0x00];
const F32X4_SPLAT = simd(0x13), F32X4_ADD = simd(0xe4), F32X4_MUL = simd(0xe6), F32X4_MAX = simd(0xe9);
const F32X4_GT = simd(0x44), V_AND = simd(0x4e);
const AND = 0x71, IF = [0x04, 0x40];
const V_ZERO = [...simd(0x0c), ...new Array<number>(16).fill(0)];
const BLOCK = [0x02, 0x40], LOOP = [0x03, 0x40], END = 0x0b;
const BR = (d: number) => [0x0c, d], BR_IF = (d: number) => [0x0d, d];
/** local ← local + by (i32). */
const inc = (l: number, by: number[]) => [...get(l), ...by, ADD, ...set(l)];
/** `block loop (exit when local ≥ limit) body; local += step; br loop end end`. */
const forLoop = (l: number, limit: number, step: number, body: number[]) => [
  ...BLOCK, ...LOOP, ...get(l), ...get(limit), GE_U, ...BR_IF(1), ...body, ...inc(l, i32(step)), ...BR(0), END, END,
];

function gemmBody(): number[] {
  // one k: two B vectors, then for each of the 4 rows acc[r][h] ← acc[r][h] + splat(A(i+r, k)) · vb_h
  const kBody = [
    ...get(PB), ...V_LOAD(0), ...set(VB0), ...get(PB), ...V_LOAD(16), ...set(VB1),
    ...[0, 1, 2, 3].flatMap((r) => [
      ...get(PA[r]!), ...F32_LOAD, ...F32X4_SPLAT, ...set(S),
      ...get(ACC[2 * r]!), ...get(S), ...get(VB0), ...F32X4_MUL, ...F32X4_ADD, ...set(ACC[2 * r]!),
      ...get(ACC[2 * r + 1]!), ...get(S), ...get(VB1), ...F32X4_MUL, ...F32X4_ADD, ...set(ACC[2 * r + 1]!),
      ...inc(PA[r]!, get(SK)),
    ]),
    ...inc(PB, get(NB)),
  ];
  const jBody = [
    ...get(A), ...get(I), ...get(SI), MUL, ADD, ...set(P0),
    ...get(P0), ...get(SI), ADD, ...set(P1), ...get(P1), ...get(SI), ADD, ...set(P2), ...get(P2), ...get(SI), ADD, ...set(P3),
    ...get(B), ...get(J), ...i32(4), MUL, ADD, ...set(PB),
    ...ACC.flatMap((acc) => [...V_ZERO, ...set(acc)]),
    ...i32(0), ...set(KK),
    ...forLoop(KK, K, 1, kBody),
    // epilogue: + ep[j..j+8] (flags & 1: a bias), max(·, 0) (flags & 2: relu), zero where the
    // same cell of ep is not > 0 (flags & 4: a relu mask of [M, N]); KK and PB are free here
    ...get(FLAGS), ...i32(1), AND, ...IF,
    ...get(EP), ...get(J), ...i32(4), MUL, ADD, ...set(KK), ...get(KK), ...V_LOAD(0), ...set(VB0), ...get(KK), ...V_LOAD(16), ...set(VB1),
    ...ACC.flatMap((acc, q) => [...get(acc), ...get(q % 2 === 0 ? VB0 : VB1), ...F32X4_ADD, ...set(acc)]), END,
    ...get(FLAGS), ...i32(2), AND, ...IF, ...ACC.flatMap((acc) => [...get(acc), ...V_ZERO, ...F32X4_MAX, ...set(acc)]), END,
    // PB = (I·N + J)·4, the block's offset in C (and in a mask); rows r at + r·N·4
    ...get(I), ...get(N), MUL, ...get(J), ADD, ...i32(4), MUL, ...set(PB),
    ...get(FLAGS), ...i32(4), AND, ...IF,
    ...get(EP), ...get(PB), ADD, ...set(KK),
    ...[0, 1, 2, 3].flatMap((r) => [
      ...[0, 1].flatMap((h) => [...get(ACC[2 * r + h]!), ...get(KK), ...V_LOAD(16 * h), ...V_ZERO, ...F32X4_GT, ...V_AND, ...set(ACC[2 * r + h]!)]),
      ...inc(KK, get(NB)),
    ]), END,
    ...get(C), ...get(PB), ADD, ...set(PC),
    ...[0, 1, 2, 3].flatMap((r) => [
      ...get(PC), ...get(ACC[2 * r]!), ...V_STORE(0), ...get(PC), ...get(ACC[2 * r + 1]!), ...V_STORE(16), ...inc(PC, get(NB)),
    ]),
  ];
  const iBody = [...i32(0), ...set(J), ...forLoop(J, N, 8, jBody)];
  const code = [...get(N), ...i32(4), MUL, ...set(NB), ...i32(0), ...set(I), ...forLoop(I, M, 4, iBody), END];
  const locals = vec([[...uleb(10), 0x7f], [...uleb(11), 0x7b]]);
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

/** The module's bytes: one function `gemm`, one exported memory `mem` of `pages` 64 KiB pages. */
function moduleBytes(pages: number): Uint8Array {
  const type = section(1, vec([[0x60, ...vec(new Array(10).fill([0x7f])), 0x00]]));
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
  gemm(a: number, b: number, c: number, m: number, n: number, k: number, sI: number, sK: number, ep: number, flags: number): void;
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
