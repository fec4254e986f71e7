import type { Recipe } from './context.js';

/** Placeholder until the iptables recipe lands (issue "recipes"). */
export const iptablesRecipe: Recipe = () => [];
