package memory

// SetLimit changes one end's size limit, so that a test can make a peer send more than the
// receiver accepts.
func SetLimit(c *Conn, limit int) { c.setLimit(limit) }
