"""Reference code tables: USCC (GB 32100), regions (GB/T 2260), industries (GB/T 4754-2017)."""
