package cluster

// SetOnNoResponders makes c call f each time one of its dials found no responder and is about
// to ask again. Set it before c dials.
func (c *Cluster) SetOnNoResponders(f func()) { c.onNoResponders = f }
