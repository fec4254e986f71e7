import type { Recipe } from './context.js';

/** Placeholder until the nfs recipe lands (issue "recipes"). */
export const nfsRecipe: Recipe = () => [];
