// The bench's results: each case's figure beside its baseline from the same run, the ratio, the
// target and whether it is met; printed as one table and kept as JSON.

/** How a case is judged: a ratio to its baseline (at least / at most), or an absolute bound. */
export type Target =
  | { kind: 'ratio-at-least'; value: number }
  | { kind: 'ratio-at-most'; value: number }
  | { kind: 'value-below'; value: number }
  | { kind: 'exactly'; value: number; also?: { label: string; value: number } }
  | { kind: 'report' };

export interface CaseResult {
  /** e.g. "verify" or "verify (postgres)". */
  name: string;
  unit: 'rps' | 'ms' | 'MB' | 'refreshes';
  gatehouse: number | null;
  /** The baseline's figure, measured in the same run; null when the case has none. */
  baseline: number | null;
  baselineName: string;
  target: Target;
  /** A second figure checked alongside (the refresh storm's failures). */
  extra?: { label: string; value: number };
  /** Requests that did not get a 2xx (Gatehouse / baseline); a case with errors fails. */
  errors?: { gatehouse: number; baseline: number };
  /**
   * Every round's figure, in order: Gatehouse's round i ran next to the baseline's round i. The
   * ratio is taken round by round (see judge); `gatehouse` and `baseline` are the medians.
   */
  samples?: { gatehouse: number[]; baseline: number[] };
  /** Server CPU time per request (µs), a figure other load on the machine disturbs less than rps. */
  cpu?: { gatehouse: number; baseline: number | null } | undefined;
  note?: string;
}

export interface JudgedCase extends CaseResult {
  ratio: number | null;
  pass: boolean | null;
}

/**
 * The median of the ratios of rounds run next to each other (Gatehouse's round i over the
 * baseline's round i). How fast this kind of shared virtual machine runs can change by half
 * within a minute, for every process on it alike: a ratio of rounds run seconds apart is what that
 * moves least, and the median leaves out the odd round either way. NaN without a usable pair.
 */
export function pairedRatio(gatehouse: number[], baseline: number[]): number {
  return median(gatehouse.flatMap((g, i) => (baseline[i]! > 0 ? [g / baseline[i]!] : [])));
}

/** The middle value (the mean of the middle two for an even count); NaN for none. */
export function median(values: number[]): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Ratio (round by round when the rounds are known) and pass/fail of one case. */
export function judge(result: CaseResult): JudgedCase {
  const { gatehouse, baseline, target, samples } = result;
  const paired = samples && samples.gatehouse.length === samples.baseline.length ? pairedRatio(samples.gatehouse, samples.baseline) : NaN;
  const ratio = !Number.isNaN(paired) ? paired : gatehouse !== null && baseline !== null && baseline !== 0 ? gatehouse / baseline : null;
  let pass: boolean | null;
  switch (target.kind) {
    case 'ratio-at-least':
      pass = ratio === null ? false : ratio >= target.value;
      break;
    case 'ratio-at-most':
      pass = ratio === null ? false : ratio <= target.value;
      break;
    case 'value-below':
      pass = gatehouse === null ? false : gatehouse < target.value;
      break;
    case 'exactly':
      pass = gatehouse === target.value && (!target.also || result.extra?.value === target.also.value);
      break;
    case 'report':
      pass = null;
      break;
  }
  if (pass !== null && result.errors && (result.errors.gatehouse > 0 || result.errors.baseline > 0)) pass = false;
  return { ...result, ratio, pass };
}

function figure(value: number | null, unit: CaseResult['unit']): string {
  if (value === null) return '—';
  if (unit === 'rps') return `${Math.round(value).toLocaleString('en-US')} rps`;
  if (unit === 'ms') return `${value.toFixed(3)} ms`;
  if (unit === 'MB') return `${value.toFixed(1)} MB`;
  return `${value} refresh${value === 1 ? '' : 'es'}`;
}

function targetText(target: Target, unit: CaseResult['unit']): string {
  switch (target.kind) {
    case 'ratio-at-least':
      return `≥ ${target.value.toFixed(2)}×`;
    case 'ratio-at-most':
      return `≤ ${target.value.toFixed(2)}×`;
    case 'value-below':
      return `< ${target.value} ${unit}`;
    case 'exactly':
      return `${figure(target.value, unit)}${target.also ? `, ${target.also.value} ${target.also.label}` : ''}`;
    case 'report':
      return 'reported';
  }
}

/** One row's cells: case, Gatehouse, baseline, ratio, target, result. */
export function cells(c: JudgedCase): string[] {
  const gatehouse = figure(c.gatehouse, c.unit) + (c.extra ? `, ${c.extra.value} ${c.extra.label}` : '');
  const baseline = c.baseline === null ? c.baselineName || '—' : `${figure(c.baseline, c.unit)} (${c.baselineName})`;
  const errors = c.errors && (c.errors.gatehouse || c.errors.baseline) ? ` [errors ${c.errors.gatehouse}/${c.errors.baseline}]` : '';
  return [
    c.name,
    gatehouse + errors,
    baseline,
    c.ratio === null ? '—' : `${c.ratio.toFixed(2)}×`,
    targetText(c.target, c.unit),
    c.pass === null ? 'info' : c.pass ? 'PASS' : 'FAIL',
    c.cpu ? `${c.cpu.gatehouse.toFixed(1)} / ${c.cpu.baseline === null ? '—' : c.cpu.baseline.toFixed(1)}` : '',
  ];
}

/** The results as a Markdown table (readable in a terminal and pasteable into the README). */
export function formatTable(cases: JudgedCase[]): string {
  const head = ['case', 'Gatehouse', 'baseline (same run)', 'ratio', 'target', 'result', 'CPU µs/req G / B'];
  const rows = [head, ...cases.map(cells)];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  const line = (r: string[]) => `| ${r.map((cell, i) => cell + ' '.repeat(widths[i]! - [...cell].length)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}
