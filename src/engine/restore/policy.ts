import type { CustomPolicy } from '../../store/registry.js';

export interface PolicyChange {
  presetsAdded: string[];
  presetsRemoved: string[];
  customAdded: string[];
  customRemoved: string[];
  customChanged: string[];
  changed: boolean;
}

/** What writing the bundle's policy metadata changes in the target's registry entry. */
export function diffPolicies(
  current: { policyPresets: string[]; customPolicies: CustomPolicy[] },
  next: { policyPresets: string[]; customPolicies: CustomPolicy[] },
): PolicyChange {
  const presetsAdded = next.policyPresets.filter((p) => !current.policyPresets.includes(p));
  const presetsRemoved = current.policyPresets.filter((p) => !next.policyPresets.includes(p));
  const before = new Map(current.customPolicies.map((p) => [p.name, p.content]));
  const after = new Map(next.customPolicies.map((p) => [p.name, p.content]));
  const customAdded = [...after.keys()].filter((n) => !before.has(n));
  const customRemoved = [...before.keys()].filter((n) => !after.has(n));
  const customChanged = [...after.keys()].filter((n) => before.has(n) && before.get(n) !== after.get(n));
  const changed = presetsAdded.length + presetsRemoved.length + customAdded.length + customRemoved.length + customChanged.length > 0;
  return { presetsAdded, presetsRemoved, customAdded, customRemoved, customChanged, changed };
}
