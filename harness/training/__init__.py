"""Training: supernet training (samplers, trainable rules, recipes, optimisers) and training subnets from scratch."""
