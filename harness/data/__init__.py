"""Datasets: the input shapes of every dataset, the readers of their official files, the prepared splits."""
