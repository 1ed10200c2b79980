"""Tests of receipts: the layout, the preview, and the printer worker with real parts."""
