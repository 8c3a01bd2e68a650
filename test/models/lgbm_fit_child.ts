/**
 * Child process of the cross-process determinism test (test/models/lightgbm_learner.test.ts):
 * reads a training matrix written by the test (`<file>.json` header + `<file>.bin` float32 X then y),
 * fits LightGBM with the given params and prints {"model": sha256(save()), "pred": sha256(predict)}.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lightgbmLearner } from '../../models/lightgbm/learner.ts';

const file = process.argv[2]!;
const h = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { nRows: number; nFeatures: number; params: Record<string, string | number | boolean>; numRounds: number };
const buf = readFileSync(`${file}.bin`);
const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
const X = all.slice(0, h.nRows * h.nFeatures);
const y = all.slice(h.nRows * h.nFeatures);
const model = await lightgbmLearner.fit({ X, y, nRows: h.nRows, nFeatures: h.nFeatures }, { params: h.params, numRounds: h.numRounds });
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const pred = model.predict(X, h.nRows);
process.stdout.write(JSON.stringify({ model: sha(model.save()), pred: sha(new Uint8Array(pred.buffer)) }) + '\n');
model.free();
