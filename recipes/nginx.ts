import type { Recipe } from './context.js';

/** Placeholder until the nginx recipe lands (issue "recipes"). */
export const nginxRecipe: Recipe = () => [];
