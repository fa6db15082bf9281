package artemis

import "time"

// Instance is one instance of a service: a plain Go copy of the SDK's artemis_instance_t
// (fields the server sent as null are ""). As an argument of Register, the empty optional
// fields keep the SDK defaults.
type Instance struct {
	ServiceID      string
	InstanceID     string
	IP             string
	Port           int
	Status         string // "up" unless the server says otherwise
	ZoneID         string
	RegionID       string
	GroupID        string
	MachineName    string
	Protocol       string
	URL            string
	HealthCheckURL string
	Metadata       map[string]string // nil when there is none
}

// Service is a copy of one immutable SDK snapshot of a service. It holds no C memory and
// stays valid after the Client is closed. The Services that Lookup and Watch return are
// shared (Lookup returns the same one while the snapshot is unchanged): treat them as
// read-only.
type Service struct {
	ID             string        // the service id as the server spells it
	Instances      []Instance    // the registered instances, in the server's order
	LogicInstances []Instance    // logical instances defined in the management database
	RouteRules     []RouteRule   // at least one: the SDK appends a derived default rule
	Stale          bool          // from the disk cache, or kept while no server answered
	Age            time.Duration // since a server last confirmed the view, when copied (not updated later)
}

// RouteRule is one route rule of a snapshot (docs/sdk.md, "Route rules and groups").
type RouteRule struct {
	ID       string
	Strategy string
	Derived  bool // the default-route-rule the SDK appended when the server sent none
	Groups   []Group
}

// Group is one group of a route rule: its instances whatever their status, its weight after
// fixWeight (0..10000) and its tags.
type Group struct {
	Key       string
	Weight    int
	Instances []Instance
	Metadata  map[string]string // nil when there is none
}

// decoder reads the flat buffer written by goart_service / goart_inst (shim.go): u32
// little-endian counts and lengths, 0xffffffff for a NULL string. Every string it returns
// is a substring of s, so a snapshot costs one allocation for all its text.
type decoder struct {
	s   string
	off int
}

func (d *decoder) u32() uint32 {
	s := d.s[d.off : d.off+4]
	d.off += 4
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

func (d *decoder) str() string {
	n := d.u32()
	if n == 0xffffffff {
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *decoder) metadata() map[string]string {
	n := int(d.u32())
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for i := 0; i < n; i++ {
		k := d.str()
		m[k] = d.str()
	}
	return m
}

// instance reads the fields in artemis_field_t order.
func (d *decoder) instance(in *Instance) {
	in.GroupID = d.str()
	in.HealthCheckURL = d.str()
	in.InstanceID = d.str()
	in.IP = d.str()
	in.MachineName = d.str()
	in.Protocol = d.str()
	in.RegionID = d.str()
	in.ServiceID = d.str()
	in.Status = d.str()
	in.URL = d.str()
	in.ZoneID = d.str()
	in.Port = int(int32(d.u32()))
	in.Metadata = d.metadata()
}

func (d *decoder) instances() []Instance {
	n := int(d.u32())
	if n == 0 {
		return nil
	}
	out := make([]Instance, n)
	for i := range out {
		d.instance(&out[i])
	}
	return out
}

// members reads a group's instances: copies of svc's instances named by index (tag 0:
// Instances, 1: LogicInstances) or instances in full (tag 2), see goart_member.
func (d *decoder) members(svc *Service) []Instance {
	n := int(d.u32())
	if n == 0 {
		return nil
	}
	out := make([]Instance, n)
	for i := range out {
		// A copy gets its own map: the Service's values must not alias each other.
		switch d.u32() {
		case 0:
			out[i] = svc.Instances[d.u32()]
			out[i].Metadata = cloneMap(out[i].Metadata)
		case 1:
			out[i] = svc.LogicInstances[d.u32()]
			out[i].Metadata = cloneMap(out[i].Metadata)
		default:
			d.instance(&out[i])
		}
	}
	return out
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func decodeService(s string) *Service {
	d := decoder{s: s}
	svc := &Service{ID: d.str()}
	svc.Stale = d.u32() != 0
	lo := uint64(d.u32())
	svc.Age = time.Duration(int64(lo|uint64(d.u32())<<32)) * time.Millisecond
	svc.Instances = d.instances()
	svc.LogicInstances = d.instances()
	if n := int(d.u32()); n > 0 {
		svc.RouteRules = make([]RouteRule, n)
		for i := range svc.RouteRules {
			r := &svc.RouteRules[i]
			r.ID = d.str()
			r.Strategy = d.str()
			r.Derived = d.u32() != 0
			if ng := int(d.u32()); ng > 0 {
				r.Groups = make([]Group, ng)
				for j := range r.Groups {
					g := &r.Groups[j]
					g.Key = d.str()
					g.Weight = int(int32(d.u32()))
					g.Instances = d.members(svc)
					g.Metadata = d.metadata()
				}
			}
		}
	}
	return svc
}
