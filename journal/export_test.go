package journal

// HoldSync makes room name of d behave as if an fsync of its segment were under way until the
// returned function ends it, for a test of group commit that does not depend on how fast the
// file system syncs or on how goroutines are scheduled: appends meanwhile write their records
// and wait for the next fsync, which they share. The room must have had an append.
func HoldSync(d *Disk, name string) (end func(), err error) {
	r, err := d.room(name)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	for r.syncing {
		r.cond.Wait()
	}
	r.syncing = true
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.syncing = false
		r.cond.Broadcast()
		r.mu.Unlock()
	}, nil
}
