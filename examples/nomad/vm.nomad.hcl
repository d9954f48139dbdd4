# A VM as a Nomad task: Nomad places, restarts and stops it; virt-vmconfig runs it
# on the libvirt of the client it lands on. `nomad job run vm.nomad.hcl`.
#
# The exec driver runs the task in a chroot: the client must offer a host volume
# with libvirt's socket directory (client config:
#   host_volume "libvirt-run" { path = "/run/libvirt" }
# ) and the VM's files where QEMU can read them (here /srv/vms, read-only in the
# task: only libvirt and QEMU open the images).
job "web-1" {
  datacenters = ["dc1"]
  type        = "service"

  group "vm" {
    count = 1

    volume "libvirt-run" {
      type      = "host"
      source    = "libvirt-run"
      read_only = false
    }

    restart {
      attempts = 3
      interval = "10m"
      delay    = "15s"
      mode     = "delay"
    }

    task "vm" {
      driver = "exec"

      volume_mount {
        volume      = "libvirt-run"
        destination = "/run/libvirt"
      }

      config {
        command = "/usr/local/bin/virt-vmconfig"
        args = [
          "--connect", "qemu:///system",
          "run", "--stop-timeout", "30",
          "/srv/vms/web-1/web-1.json",
        ]
      }

      # Nomad's stop: SIGTERM, then the guest gets --stop-timeout to power off
      # (ACPI) before virt-vmconfig kills it; Nomad waits a little longer.
      kill_signal  = "SIGTERM"
      kill_timeout = "45s"

      # The task itself is small: the guest's CPUs and memory are QEMU's,
      # outside the task's cgroup.
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
