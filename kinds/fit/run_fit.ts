/**
 * The body every CPCV fit kind shares (imported lazily by the kind modules so native bindings load
 * only when a fit runs): refuse RED data, load the training config for the engine, read the
 * features and labels inputs, load the panel on the features' calendar, run the CPCV protocol
 * (cv/protocol.ts) and return the signals.oof, trials.ledger and model.bundle contract values.
 */
import { calendarFor } from '../../calendar/calendar.ts';
import { assertNotRed } from '../../data/guard.ts';
import { withDuckDB } from '../../lib/duckdb.ts';
import { InputError, StepError } from '../../lib/errors.ts';
import { digestJson } from '../../lib/hash.ts';
import { checkEmbargo } from '../../cv/embargo.ts';
import { loadPanel, maxLabelRows, type Panel } from '../../cv/panel.ts';
import { runCpcvProtocol, type CpcvResult, type CpcvSpec } from '../../cv/protocol.ts';
import type { TargetSpec } from '../../cv/target.ts';
import type { StepContext } from '../types.ts';
import { loadTrainingConfig, trialsOf, type ConfigOverrides, type TrainingConfig } from './config.ts';
import type { Engine } from './engines.ts';
import type { FitOutputs, fitConsumes } from './schema.ts';

/** What a fit kind passes on from its `with:`: sleeve, config file, the overrides and the embargo override. */
export interface FitArgs extends ConfigOverrides {
  sleeve: string;
  config: string;
  /** Accept an embargo shorter than the labels' longest interval (logged as a warning). */
  allow_short_embargo?: boolean;
}


type FitContext = StepContext<typeof fitConsumes>;

/** The target the protocol trains on, from the config and the engine's objective. */
function targetOf(cfg: TrainingConfig, engine: Engine): TargetSpec {
  if (cfg.task === 'regression') return { task: 'regression', transform: cfg.target.transform };
  const kind = engine.classifier(cfg.engines[engine.name]!.params);
  return { task: 'classification', classes: kind === 'multiclass' ? cfg.classes! : null };
}

/** Reads and checks the inputs: labels task = config task, one calendar for features and labels. */
function readInputs(ctx: FitContext, cfg: TrainingConfig, file: string) {
  const features = ctx.input('features');
  const labels = ctx.input('labels');
  if (labels.value.task !== cfg.task) {
    throw new StepError({ message: `${file} is a ${cfg.task} config but the labels input ${labels.step}.${labels.output} (${labels.value.labels_kind}) is for ${labels.value.task}: pick the matching config or bind other labels (inputs: { labels: … })`, type: 'BadInput', nonRetryable: true });
  }
  if (labels.value.calendar !== features.value.calendar) {
    throw new InputError({ message: `features (${features.step}, calendar ${features.value.calendar}) and labels (${labels.step}, calendar ${labels.value.calendar}) are on different calendars`, details: { features: features.value.calendar, labels: labels.value.calendar } });
  }
  return { features, labels };
}

/**
 * Runs a CPCV fit with `engine`. Throws DataQualityError on a RED audit, ConfigError for a bad
 * config, StepError (BadInput, LeakageSuspected, OnnxParityError, Cancelled) as the protocol does.
 */
export async function runFit(ctx: FitContext, a: FitArgs, engine: Engine): Promise<FitOutputs> {
  assertNotRed(ctx.inputs('quality'));
  const cfg = loadTrainingConfig(ctx.projectRoot, a.config, engine, a);
  const { features, labels } = readInputs(ctx, cfg, a.config);
  const calendar = calendarFor(features.value.calendar);
  const section = cfg.engines[engine.name]!;
  const learner = await engine.load();
  const spec: CpcvSpec = {
    sleeve: a.sleeve, learner, target: targetOf(cfg, engine), nGroups: cfg.cv.n_groups, nTestGroups: cfg.cv.n_test_groups,
    settings: {
      embargoBars: cfg.cv.embargo_bars, validationFraction: cfg.cv.validation_fraction, dateStride: cfg.sampling.date_stride, halfLifeBars: cfg.sampling.half_life_bars,
      numRounds: section.num_boost_round, earlyStoppingRounds: section.early_stopping_rounds, perDateGroups: engine.ranking(section.params),
    },
    trials: await trialsOf(section, engine), selection: cfg.selection, leakage: cfg.leakage,
    modelStem: `${cfg.model}_${a.sleeve}`, native: engine.native,
  };
  return withDuckDB(async (con) => {
    ctx.progress({ fraction: 0, message: `loading ${features.step} ⋈ ${labels.step}` });
    const panel = await loadPanel(con, ctx.artifacts.path(features.value), ctx.artifacts.path(labels.value), features.value.feature_names, calendar);
    ctx.progress({ fraction: 0, message: `panel: ${panel.n} rows × ${panel.nFeatures} features, ${panel.uniqueDates.length} bars (${calendar.name}), ${engine.name}` });
    checkEmbargo(cfg.cv.embargo_bars, Math.max(labels.value.max_horizon_bars, await maxLabelRows(con, 'panel')), a.allow_short_embargo === true, ctx.log, `fit of sleeve ${a.sleeve}`);
    const res = await runCpcvProtocol(ctx, con, panel, spec);
    return fitOutputs(ctx, { a, cfg, engine, panel, res });
  });
}

/** Writes the feature list and training config and assembles the kind's outputs. */
async function fitOutputs(
  ctx: FitContext,
  o: { a: FitArgs; cfg: TrainingConfig; engine: Engine; panel: Panel; res: CpcvResult },
): Promise<FitOutputs> {
  const { a, cfg, engine, panel, res } = o;
  const f = ctx.input('features'), l = ctx.input('labels');
  const registry = ctx.artifacts.has(f.value.registry) ? ctx.artifacts.readJson(f.value.registry) : null;
  const featureList = await ctx.artifacts.putJson(
    { feature_names: f.value.feature_names, features_step: f.step, feature_set_version: f.value.feature_set_version, registry_digest: f.value.registry_digest, registry_uri: f.value.registry.uri, registry },
    'feature_list.json',
  );
  const configDoc = {
    sleeve: a.sleeve, engine: engine.name, engine_version: (await engine.version?.()) ?? null, config_file: a.config, config: cfg,
    selected_params: res.selectedParams, final_rounds: res.finalRounds, labels_kind: l.value.labels_kind, labels_entry: l.value.entry, labels_step: l.step, calendar: panel.calendar.name,
    allow_short_embargo: a.allow_short_embargo === true,
  };
  const trainingConfig = await ctx.artifacts.putJson(configDoc, 'training_config.json');
  const x = res.artifacts;
  const n = (v: number): number | null => (Number.isFinite(v) ? v : null);
  return {
    oof: { sleeve: a.sleeve, task: res.task, calendar: f.value.calendar, n_paths: res.layout.phi, components: [], oof: x.oof, walk_forward: x.walk_forward },
    trials: {
      sleeve: a.sleeve, n_trials: res.trialIds.length, ledger: x.ledger, returns: x.returns,
      // what defines these trials besides their params, the data excluded: a re-fit on new data is the same trial
      context_digest: digestJson({ sleeve: a.sleeve, engine: engine.name, config: cfg, labels_kind: l.value.labels_kind, labels_entry: l.value.entry, max_horizon_bars: l.value.max_horizon_bars, feature_set_version: f.value.feature_set_version, calendar: panel.calendar.name }),
    },
    model: {
      sleeve: a.sleeve, task: res.task, engine: engine.name, feature_names: f.value.feature_names, onnx: x.onnx, native: x.native,
      feature_list: featureList, training_config: trainingConfig, training_config_digest: digestJson(configDoc), metrics: x.metrics,
    },
    sleeve: a.sleeve, task: res.task, engine: engine.name, labels_kind: l.value.labels_kind,
    n_rows: panel.n, n_features: panel.nFeatures, n_splits: res.layout.splits.length, n_paths: res.layout.phi, n_trials: res.trialIds.length,
    selected_trial: res.selectedTrial, mean_ic: n(res.selected.mean_ic), mean_rank_ic: n(res.selected.mean_rank_ic), icir: n(res.selected.icir),
    sharpe: n(res.selected.sharpe), walk_forward_rank_ic: n(res.walkForward.rank_ic), insample_rank_ic: n(res.insample.rank_ic),
    onnx_parity_max_abs_diff: res.parity.maxAbsDiff, leakage_suspect: res.leakage.suspicious,
  };
}
