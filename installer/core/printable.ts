/**
 * Text that came from outside (a certificate's names, a host's answer) made
 * safe to show on a terminal: control characters, C1 codes and bidi overrides
 * become visible escapes, so such text can neither move the cursor, recolour,
 * hide what follows nor reorder it. Only for display, never for comparison.
 */

// C0 controls, DEL, C1 controls, and the bidirectional embedding/override/isolate characters
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\\]/g;

export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === '\\') return '\\\\';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
