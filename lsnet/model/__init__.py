"""LSNet in PyTorch: backbone, FPN, LSHead with the pyramid DCN, losses, assignment, decoding."""
