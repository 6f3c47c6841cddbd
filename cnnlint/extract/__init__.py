"""Front ends that turn code into cnnlint's IR."""
