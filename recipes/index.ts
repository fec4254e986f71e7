import type { Recipe } from './context.js';
import { firewallRecipe } from './firewall.js';
import { ipvsRecipe } from './ipvs.js';
import { iptablesRecipe } from './iptables.js';
import { keepalivedRecipe } from './keepalived.js';
import { networkRecipe } from './network.js';
import { modulesRecipe } from './modules.js';
import { nfsRecipe } from './nfs.js';
import { nginxRecipe } from './nginx.js';
import { packagesRecipe } from './packages.js';
import { sysctlRecipe } from './sysctl.js';
import { vipRecipe } from './vip.js';

export type { PlanContext, Recipe } from './context.js';

/**
 * Every recipe, in the order its steps run: packages first (later steps need the programs), then
 * the firewall and the network, kernel modules (before the settings that need them), kernel settings
 * (before the VIP is added, so a DR real server never answers ARP for it), addresses, NAT rules, services, and last the IPVS
 * table (or keepalived, which owns it on HA directors).
 */
export const RECIPES: ReadonlyArray<{ name: string; recipe: Recipe }> = [
  { name: 'packages', recipe: packagesRecipe },
  { name: 'firewall', recipe: firewallRecipe },
  { name: 'network', recipe: networkRecipe },
  { name: 'modules', recipe: modulesRecipe },
  { name: 'sysctl', recipe: sysctlRecipe },
  { name: 'vip', recipe: vipRecipe },
  { name: 'iptables', recipe: iptablesRecipe },
  { name: 'nginx', recipe: nginxRecipe },
  { name: 'nfs', recipe: nfsRecipe },
  { name: 'ipvs', recipe: ipvsRecipe },
  { name: 'keepalived', recipe: keepalivedRecipe },
];
