"""The gate: many configured losses audited at once (ci, the plugin, the gallery), config, baseline, annotations."""
