import type { Recipe } from './context.js';

/** Placeholder until the ipvs recipe lands (issue "recipes"). */
export const ipvsRecipe: Recipe = () => [];
