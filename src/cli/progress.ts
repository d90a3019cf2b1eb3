// Training progress on stderr: a live bar (loss, img/s, ETA) on a terminal, one line per epoch
// otherwise (CI logs, pipes).
import cliProgress from 'cli-progress';
import type { EpochRecord, StepEvent, TrainEvents } from '../train/train.js';

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

/** A method's epoch figures in a few words: shares as percentages, others as numbers. */
function methodFigures(m: Record<string, number> | undefined): string {
  if (!m) return '';
  const parts = Object.entries(m).map(([k, v]) => (/share|rate/i.test(k) ? `${k} ${pct(v)}` : `${k} ${+v.toFixed(4)}`));
  return `  [${parts.join(', ')}]`;
}

export function epochLine(r: EpochRecord, epochs: number): string {
  const speed = `(${r.seconds.toFixed(1)} s, ${Math.round(r.imagesPerSecond)} img/s)`;
  return `epoch ${r.epoch}/${epochs}  loss ${r.trainLoss.toFixed(4)}  train ${pct(r.trainAccuracy)}  test ${pct(r.testAccuracy)}  ${speed}${methodFigures(r.method)}`;
}

export function trainProgress(label: string, quiet = false): TrainEvents {
  if (quiet) return {};
  const tty = Boolean(process.stderr.isTTY);
  let bar: cliProgress.SingleBar | null = null;
  let epochs = 0;
  return {
    onStart: (i) => {
      epochs = i.epochs;
      const what = i.resumed ? `resuming at epoch ${i.startEpoch + 1}` : 'starting';
      process.stderr.write(
        `${label}: ${what}; ${i.trainCount} training / ${i.testCount} test images, ${i.stepsPerEpoch} steps per epoch\n`,
      );
    },
    onStep: (e: StepEvent) => {
      if (!tty) return;
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            format: `epoch {ep}/${epochs} |{bar}| {value}/{total} loss {loss} lr {lr} {ips} img/s ETA {eta_formatted} {status}`,
            stream: process.stderr,
            hideCursor: true,
            clearOnComplete: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(e.steps, 0, { ep: e.epoch + 1, loss: '-', lr: '-', ips: '-', status: '' });
      }
      bar.update(e.step, {
        ep: e.epoch + 1,
        loss: e.loss.toFixed(4),
        lr: e.lr.toExponential(2),
        ips: Math.round(e.imagesPerSecond),
        status: e.status ?? '',
      });
    },
    onEpoch: (r) => {
      if (bar) {
        bar.stop();
        bar = null;
      }
      process.stderr.write(epochLine(r, epochs) + '\n');
    },
  };
}
