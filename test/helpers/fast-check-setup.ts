// Property tests explore new random cases on every local run (fast-check prints the seed of a
// failure to reproduce it); under CI=true the seed is fixed so a landing is reproducible.
import fc from 'fast-check';

if (process.env.CI === 'true' || process.env.FC_SEED) fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261122) });
