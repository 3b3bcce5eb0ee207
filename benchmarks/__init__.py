"""The benchmark suite: tusd_py side by side with its peers and a raw sink, on loopback (`make bench`)."""
