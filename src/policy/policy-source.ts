import type { ActivePolicy, PolicySource } from '../kernel/index.js';

/** A PolicySource whose bundle can be swapped at run time (activation); readers always see a whole bundle. */
export interface SwappablePolicySource extends PolicySource {
  swap(next: ActivePolicy): void;
  /** Sets (or clears) the bundle evaluated in shadow mode beside the enforced one. */
  setShadow(next: ActivePolicy | undefined): void;
  shadow(): ActivePolicy | undefined;
}

/** Creates a PolicySource holding `initial` until the next swap. */
export function createPolicySource(initial: ActivePolicy): SwappablePolicySource {
  let active = initial;
  let shadow: ActivePolicy | undefined;
  return {
    current: () => active,
    swap(next: ActivePolicy): void {
      active = next;
    },
    shadow: () => shadow,
    setShadow(next: ActivePolicy | undefined): void {
      shadow = next;
    },
  };
}
