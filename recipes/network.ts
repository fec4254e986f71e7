import type { Recipe } from './context.js';

/** Placeholder until the network recipe lands (issue "recipes"). */
export const networkRecipe: Recipe = () => [];
