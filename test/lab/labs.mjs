// Lab layouts (harness specs) shared by scenarios. Scenarios that name the same layout object run
// one after another on ONE booted lab (booting is the expensive part: ~30 s of CPU per guest under
// TCG), in the order of their file names. Give a layout its own `name`: it names the run folder.
//
// A guest: {name, nics: [{segment, name}], persistent?, services?: 'disabled'|'as-installed',
//           memMiB?, mask?, unmask?, disable?, files?}   (see harness.mjs)

/** The seed's NAT layout, cut down for the smoke test: director, one web server, a client. */
export const smokeLab = {
  name: 'smoke',
  segments: ['net91', 'net81'],
  guests: [
    {
      name: 'lvs',
      nics: [
        { segment: 'net91', name: 'ens33' },
        { segment: 'net81', name: 'ens37' },
      ],
    },
    { name: 'web1', nics: [{ segment: 'net81', name: 'ens33' }], persistent: true },
    { name: 'client', nics: [{ segment: 'net91', name: 'ens33' }] },
  ],
};

/** examples/seed-nat.yaml: director (ens33 public net91, ens37 private net81), two real servers
 * on net81, the NFS server and a client on net91. Scenarios 1 (NAT) and 5 (NFS). */
export const natLab = {
  name: 'nat',
  segments: ['net91', 'net81'],
  guests: [
    {
      name: 'lvs',
      nics: [
        { segment: 'net91', name: 'ens33' },
        { segment: 'net81', name: 'ens37' },
      ],
    },
    { name: 'web1', nics: [{ segment: 'net81', name: 'ens33' }] },
    { name: 'web2', nics: [{ segment: 'net81', name: 'ens33' }] },
    {
      name: 'nfs',
      nics: [{ segment: 'net91', name: 'ens33' }],
      // The exported directories on real filesystems, as on a VM's disk: the guest's own root
      // (overlayfs over 9p) cannot be exported by knfsd. /usr/share keeps its content.
      disks: [
        { mount: '/usr/share', from: '/usr/share' },
        { mount: '/soft' },
        { mount: '/program' },
        { mount: '/data' },
      ],
    },
    { name: 'client', nics: [{ segment: 'net91', name: 'ens33' }] },
  ],
};

/** examples/seed-dr.yaml: director and two real servers on one segment, a client. The director
 * and web1 have persistent disks (scenario 7 reboots them). Scenarios 2, 6, 7, 8 share it. */
export const drLab = {
  name: 'dr',
  segments: ['net91'],
  guests: [
    { name: 'lvs', nics: [{ segment: 'net91', name: 'ens33' }], persistent: true },
    { name: 'web1', nics: [{ segment: 'net91', name: 'ens33' }], persistent: true },
    { name: 'web2', nics: [{ segment: 'net91', name: 'ens33' }] },
    { name: 'client', nics: [{ segment: 'net91', name: 'ens33' }] },
  ],
};

/** examples/seed-dr-keepalived.yaml: the keepalived pair (lvs1 MASTER, lvs2 BACKUP), two DR real
 * servers and a client on one segment. Scenario 4. */
export const haLab = {
  name: 'ha',
  segments: ['net91'],
  guests: [
    { name: 'lvs1', nics: [{ segment: 'net91', name: 'ens33' }] },
    { name: 'lvs2', nics: [{ segment: 'net91', name: 'ens33' }] },
    { name: 'web1', nics: [{ segment: 'net91', name: 'ens33' }] },
    { name: 'web2', nics: [{ segment: 'net91', name: 'ens33' }] },
    { name: 'client', nics: [{ segment: 'net91', name: 'ens33' }] },
  ],
};
