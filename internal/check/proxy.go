package check

func forwardProxyCases() []*Case { return nil }
func oscoreProxyCases() []*Case  { return nil }
