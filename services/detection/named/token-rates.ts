/**
 * What a model costs per token, learnt from hours of usage: cost ≈ a·input +
 * b·output, fitted by least squares (no intercept; no tokens cost nothing).
 * Two rates matter because output tokens usually cost several times input
 * tokens, so a single blended rate mistakes a shift towards longer answers for
 * a price change. Rates are USD per token (statistics, not money).
 */
export interface TokenRates {
  readonly input: number;
  readonly output: number;
  /** Whether input and output have rates of their own (false: one blended rate over all tokens). */
  readonly split: boolean;
}

export interface TokenUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly usd: number;
}

/**
 * Relative determinant of the normal equations, det / (Σin² · Σout²) = 1 − r²
 * (r the uncentred correlation of input and output tokens), below which input
 * and output moved in lockstep and their rates cannot be told apart.
 */
export const MIN_CONDITIONING = 1e-6;

/**
 * Least-squares rates over the hours. Falls back to one blended rate, Σcost /
 * Σtokens, when the two rates cannot be told apart or one comes out negative
 * (noise on near-collinear hours). Null without any tokens.
 */
export function fitTokenRates(hours: readonly TokenUsage[], minConditioning: number = MIN_CONDITIONING): TokenRates | null {
  let inIn = 0;
  let outOut = 0;
  let inOut = 0;
  let inCost = 0;
  let outCost = 0;
  let tokens = 0;
  let cost = 0;
  for (const { inputTokens: input, outputTokens: output, usd } of hours) {
    inIn += input * input;
    outOut += output * output;
    inOut += input * output;
    inCost += input * usd;
    outCost += output * usd;
    tokens += input + output;
    cost += usd;
  }
  if (tokens <= 0) return null;
  const det = inIn * outOut - inOut * inOut;
  if (inIn > 0 && outOut > 0 && det > minConditioning * inIn * outOut) {
    const input = (outOut * inCost - inOut * outCost) / det;
    const output = (inIn * outCost - inOut * inCost) / det;
    if (input >= 0 && output >= 0) return { input, output, split: true };
  }
  const blended = cost / tokens;
  return { input: blended, output: blended, split: false };
}

/** What the rates say the tokens cost, USD. */
export function expectedCost(rates: TokenRates, inputTokens: number, outputTokens: number): number {
  return rates.input * inputTokens + rates.output * outputTokens;
}
