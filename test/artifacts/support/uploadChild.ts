/**
 * Test helper, run as `node --import tsx uploadChild.ts <home> <file>` with TRADEML_ARTIFACTS set:
 * stores <file> in an ArtifactStore at <home> (so it uploads to S3) and prints `progress <bytes>`
 * after every uploaded part, then `done <uri>`. The live test SIGKILLs it after the first part to
 * show that a killed upload leaves no object behind.
 */
import { ArtifactStore } from '../../../artifacts/store.ts';

const [home, file] = process.argv.slice(2);
if (!home || !file) throw new Error('usage: uploadChild.ts <home> <file>');
const store = new ArtifactStore(home);
const ref = await store.putFile(file, { name: 'big.bin', move: false, onUploadProgress: (b) => console.log(`progress ${b}`) });
console.log(`done ${ref.uri}`);
