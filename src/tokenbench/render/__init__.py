"""Output formats: one module per format (table, json, csv, md, html), each registering its
renderers for the views it supports; `formats` imports them all."""
