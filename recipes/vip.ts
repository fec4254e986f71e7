import type { Recipe } from './context.js';

/** Placeholder until the vip recipe lands (issue "recipes"). */
export const vipRecipe: Recipe = () => [];
