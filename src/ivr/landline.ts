/**
 * Landline detection by caller-id pattern. A pattern is "+" then digits, where X stands for
 * any digit, matched against the start of the E.164 caller id: "+1800" covers US toll-free,
 * "+4930" Berlin landlines, "+44X0" would cover "+4410…" to "+4490…". Number plans differ by
 * country, so each IVR system lists what its callers' landlines look like.
 */
export const landlinePattern = /^\+[0-9X]{1,15}$/;

export function matchesLandlinePattern(callerId: string, pattern: string): boolean {
  if (callerId.length < pattern.length) return false;
  for (let index = 0; index < pattern.length; index++) {
    const expected = pattern[index];
    if (expected !== 'X' && expected !== callerId[index]) return false;
  }
  return true;
}

export function isLandline(callerId: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => matchesLandlinePattern(callerId, pattern));
}
