"""Reports on analyses and comparisons: self-contained HTML (:mod:`.html`), the terminal
(:mod:`.terminal`), the plain-language summary of a comparison (:mod:`.summary`), JSON and
its schema (:mod:`.jsonio`), and the writers the command line streams analyses to
(:mod:`.writers`). Import from those modules."""
