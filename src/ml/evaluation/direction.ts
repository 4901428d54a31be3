/**
 * The direction a probability of an up day calls: up when it favours up; 0.5 favours neither and counts as down.
 * One rule for the evaluation's served hit rate and the tracking store's scoring (no imports: the dashboard's
 * types reach it through the tracking scores).
 */
export function callsUp(probabilityUp: number): boolean {
  return probabilityUp > 0.5;
}
