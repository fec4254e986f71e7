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
