"""An engine in this process: every actor wired to one bridge, its in-process client, the
`serve` loop for other processes, and the settings that say where things live."""
