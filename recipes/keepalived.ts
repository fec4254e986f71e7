import type { Recipe } from './context.js';

/** Placeholder until the keepalived recipe lands (issue "recipes"). */
export const keepalivedRecipe: Recipe = () => [];
