/**
 * vitest's global set-up: every test process gets one fresh temporary root (TMPDIR, so
 * `os.tmpdir()` and every `mkdtemp` under it land there), removed when the run ends. Without it
 * each full run left ≈ 650 MB of temporary homes, stores and projects behind in /tmp.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(path.join(os.tmpdir(), 'trademl-vitest-'));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
