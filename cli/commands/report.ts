import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UserError } from '../../lib/errors.ts';
import { isReportableRunId, reportDir } from '../../report/index.ts';
import { homeOption } from './models.ts';

/** `trademl report <run-id> [--open]`: where a run's report is (written when the run finishes), optionally opened. */
export function register(program: Command): void {
  program
    .command('report <run-id>')
    .description("print the path of a run's report.html (self-contained, opens offline) and report.json; --open opens it")
    .option('--open', 'open report.html in the default browser (xdg-open / open)')
    .option('--json', 'print report.json')
    .action(async (runId: string, o: { open?: boolean; json?: boolean }, cmd: Command) => {
      if (!isReportableRunId(runId)) throw new UserError({ message: `bad run id "${runId}"; list runs with \`trademl runs\`` });
      const dir = reportDir(runId, homeOption(cmd));
      const html = `${dir}/report.html`;
      const json = `${dir}/report.json`;
      if (!existsSync(html)) {
        throw new UserError({ message: `no report for run ${runId} under ${dir}; reports are written when a run finishes or waits for approval (check \`trademl status ${runId}\`)` });
      }
      if (o.json) {
        process.stdout.write(readFileSync(json, 'utf8') + '\n');
      } else {
        const data = JSON.parse(readFileSync(json, 'utf8')) as { run: { status: string; pipeline: string }; missing: string[] };
        process.stdout.write(`run ${runId} (${data.run.pipeline}, ${data.run.status})\nreport: ${html}\njson:   ${json}\n${data.missing.length ? `not in this report: ${data.missing.join('; ')}\n` : ''}`);
      }
      if (o.open) {
        const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
        await new Promise<void>((resolve) => {
          const child = spawn(opener, [html], { detached: true, stdio: 'ignore' });
          child.on('error', () => {
            process.stderr.write(`could not start ${opener}; open ${html} in a browser\n`);
            resolve();
          });
          child.on('spawn', () => {
            child.unref();
            resolve();
          });
        });
      }
    });
}
