//! Emotion map (to be built): the emotion vectors in PCA space and their similarities.

import type { ViewDef } from "../app";
import { placeholder } from "./placeholder";

export const view: ViewDef = {
  id: "map",
  title: "Emotion map",
  order: 2,
  mount: (root) => placeholder(root, "Emotion map", "How the 171 emotion vectors sit relative to each other.", [
    "the vectors in PCA space (PC1 × PC2), coloured by cluster, with human valence and arousal for comparison where known",
    "hover or focus an emotion for its nearest neighbours by cosine similarity",
    "the similarity heatmap",
  ]),
};
