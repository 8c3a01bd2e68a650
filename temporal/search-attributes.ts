/**
 * Registers TradeML's custom search attributes (temporal/workflow/visibility.ts) on a namespace:
 * listed first, the missing ones added (OperatorService AddSearchAttributes), so every run can be
 * found in the UI by pipeline, dataset, run state, failed step, model version and approver.
 * `temporal run`, `schedules sync` and the cpu worker call it; where the namespace refuses
 * (Temporal Cloud adds attributes through its control plane, not this API) the caller is told how
 * to add them and runs go without custom attributes.
 */
import type { ConnectionLike } from '@temporalio/client';
import proto from '@temporalio/proto';
import { errorMessage } from '../lib/errors.ts';
import { SEARCH_ATTRIBUTES } from './workflow/visibility.ts';

const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

const TYPES: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** Name → Temporal type of every TradeML search attribute. */
export function searchAttributeTypes(): Record<string, string> {
  return Object.fromEntries(Object.values(SEARCH_ATTRIBUTES).map((k) => [k.name, k.type]));
}

/** How to add the attributes by hand (printed when the API refuses). */
export function searchAttributeCommands(namespace: string): string {
  return Object.entries(searchAttributeTypes())
    .map(([name, type]) => `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type === 'KEYWORD_LIST' ? 'KeywordList' : 'Keyword'}`)
    .join('\n');
}

/** Outcome of {@link ensureSearchAttributes}. */
export interface SearchAttributeSetup {
  ok: boolean;
  added: string[];
  /** Why they cannot be used (and how to add them), when not ok. */
  problem?: string;
}

/**
 * Makes sure the namespace has every TradeML search attribute with the right type; adds the
 * missing ones. Never throws: a refusal (no permission, a type clash) comes back as `problem`.
 */
export async function ensureSearchAttributes(connection: ConnectionLike & { operatorService: { listSearchAttributes: Function; addSearchAttributes: Function } }, namespace: string): Promise<SearchAttributeSetup> {
  const want = searchAttributeTypes();
  try {
    const have = (await connection.operatorService.listSearchAttributes({ namespace })) as { customAttributes?: Record<string, number> };
    const custom = have.customAttributes ?? {};
    const clash = Object.entries(want).filter(([n, t]) => custom[n] !== undefined && custom[n] !== TYPES[t]);
    if (clash.length) return { ok: false, added: [], problem: `search attribute(s) ${clash.map(([n, t]) => `${n} (want ${t})`).join(', ')} exist with another type in namespace ${namespace}; remove them or use another namespace` };
    const missing = Object.entries(want).filter(([n]) => custom[n] === undefined);
    if (missing.length) {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map(([n, t]) => [n, TYPES[t]])) });
    }
    return { ok: true, added: missing.map(([n]) => n) };
  } catch (e) {
    return { ok: false, added: [], problem: `cannot register TradeML's search attributes in namespace ${namespace} (${errorMessage(e).split('\n')[0]}); add them once with:\n${searchAttributeCommands(namespace)}` };
  }
}
