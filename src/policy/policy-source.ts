import type { ActivePolicy, PolicySource } from '../kernel/index.js';

/** A PolicySource whose bundle can be swapped at run time (activation); readers always see a whole bundle. */
export interface SwappablePolicySource extends PolicySource {
  swap(next: ActivePolicy): void;
}

/** Creates a PolicySource holding `initial` until the next swap. */
export function createPolicySource(initial: ActivePolicy): SwappablePolicySource {
  let active = initial;
  return {
    current: () => active,
    swap(next: ActivePolicy): void {
      active = next;
    },
  };
}
