import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

/**
 * TensorFlow.js for training. The wasm backend is the default (PERF-NOTES: 2–3× faster than the
 * cpu backend on this machine, and deterministic: one thread, fixed op order). When a user has
 * `@tensorflow/tfjs-node` installed, its native `tensorflow` backend is used instead; it cannot
 * be installed here (it downloads libtensorflow), so it is detected with a dynamic import that may
 * fail, never a dependency.
 *
 * Serving never comes here: the scorer is compiled weights (scorer.ts).
 */

export type TfBackendName = 'tensorflow' | 'wasm' | 'cpu';

let ready: Promise<TfBackendName> | undefined;

/** Selects and initialises the backend once per process; returns its name. */
export function initTensorflow(preferred?: TfBackendName): Promise<TfBackendName> {
  ready ??= select(preferred);
  return ready;
}

async function select(preferred: TfBackendName | undefined): Promise<TfBackendName> {
  if (preferred === undefined || preferred === 'tensorflow') {
    try {
      // The package name is a variable so that TypeScript and bundlers do not require it.
      const nativePackage = '@tensorflow/tfjs-node';
      await import(nativePackage);
      if (await tf.setBackend('tensorflow')) return 'tensorflow';
    } catch {
      // Not installed (the usual case): fall through to wasm.
    }
  }
  if (preferred !== 'cpu' && (await tf.setBackend('wasm'))) {
    await tf.ready();
    return 'wasm';
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return 'cpu';
}

export { tf };
