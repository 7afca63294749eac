"""GaussPET: coefficient network, Gauss-Seidel solver, tiling, checkpoints, inference."""
