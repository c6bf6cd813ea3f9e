"""core/v1 Volume and every volume source a pod can use."""

from __future__ import annotations

from distro.apiserver.schema.dsl import (
    BOOL,
    I32,
    I64,
    META,
    QTY,
    RESOURCES,
    STR,
    STRMAP,
    Component,
    arr,
    f,
    named,
    obj,
    opt,
    ref,
    sub,
)

C = "io.k8s.api.core.v1."

_READ_ONLY = "Mount read-only when true."
_FS_TYPE = "Filesystem type to mount, such as ext4 or xfs."
_SECRET_REF = "Secret with credentials for the plugin."
_DEFAULT_MODE = "Permission bits for created files, 0000-0777 (decimal in JSON). Defaults to 0644."


def _sources() -> dict:
    """The VolumeSource fields inlined into Volume; exactly one may be set."""
    return dict(
        hostPath=opt(
            C + "HostPathVolumeSource", "A file or directory of the node, mostly for system agents."
        ),
        emptyDir=opt(C + "EmptyDirVolumeSource", "A scratch directory that lives as long as the pod."),
        gcePersistentDisk=opt(C + "GCEPersistentDiskVolumeSource", "Deprecated: a GCE persistent disk."),
        awsElasticBlockStore=opt(C + "AWSElasticBlockStoreVolumeSource", "Deprecated: an AWS EBS volume."),
        gitRepo=opt(
            C + "GitRepoVolumeSource", "Deprecated: a git repository cloned into an empty directory."
        ),
        secret=opt(C + "SecretVolumeSource", "The keys of a Secret as files."),
        nfs=opt(C + "NFSVolumeSource", "An NFS export."),
        iscsi=opt(C + "ISCSIVolumeSource", "An iSCSI disk."),
        glusterfs=opt(C + "GlusterfsVolumeSource", "Deprecated: a GlusterFS volume."),
        persistentVolumeClaim=opt(
            C + "PersistentVolumeClaimVolumeSource", "A PersistentVolumeClaim in the pod's namespace."
        ),
        rbd=opt(C + "RBDVolumeSource", "Deprecated: a Rados block device."),
        flexVolume=opt(C + "FlexVolumeSource", "Deprecated: a volume from an exec-based plugin."),
        cinder=opt(C + "CinderVolumeSource", "Deprecated: an OpenStack Cinder volume."),
        cephfs=opt(C + "CephFSVolumeSource", "Deprecated: a CephFS mount."),
        flocker=opt(C + "FlockerVolumeSource", "Deprecated: a Flocker dataset."),
        downwardAPI=opt(C + "DownwardAPIVolumeSource", "Pod fields and container resources as files."),
        fc=opt(C + "FCVolumeSource", "A Fibre Channel disk."),
        azureFile=opt(C + "AzureFileVolumeSource", "Deprecated: an Azure File share."),
        configMap=opt(C + "ConfigMapVolumeSource", "The keys of a ConfigMap as files."),
        vsphereVolume=opt(C + "VsphereVirtualDiskVolumeSource", "Deprecated: a vSphere disk."),
        quobyte=opt(C + "QuobyteVolumeSource", "Deprecated: a Quobyte mount."),
        azureDisk=opt(C + "AzureDiskVolumeSource", "Deprecated: an Azure data disk."),
        photonPersistentDisk=opt(C + "PhotonPersistentDiskVolumeSource", "Deprecated: a Photon disk."),
        projected=opt(C + "ProjectedVolumeSource", "Several sources merged into one directory."),
        portworxVolume=opt(C + "PortworxVolumeSource", "Deprecated: a Portworx volume."),
        scaleIO=opt(C + "ScaleIOVolumeSource", "Deprecated: a ScaleIO volume."),
        storageos=opt(C + "StorageOSVolumeSource", "Deprecated: a StorageOS volume."),
        csi=opt(C + "CSIVolumeSource", "An ephemeral volume from a CSI driver."),
        ephemeral=opt(
            C + "EphemeralVolumeSource", "A PersistentVolumeClaim created and deleted with the pod."
        ),
        image=opt(C + "ImageVolumeSource", "The contents of an OCI image or artifact, read-only."),
    )


COMMON = [
    obj(
        C + "Volume",
        "A named volume in a pod that its containers can mount.",
        name=f(STR, "Name of the volume, a DNS label unique within the pod.", required=True),
        **_sources(),
    ),
    obj(
        C + "HostPathVolumeSource",
        "A path on the node.",
        path=f(STR, "Path on the node; symlinks are followed.", required=True),
        type=f(
            named(STR, "v1.HostPathType"),
            'What must exist at the path: "" (no check), DirectoryOrCreate, '
            "Directory, FileOrCreate, File, Socket, CharDevice or BlockDevice.",
            enum=(
                "",
                "BlockDevice",
                "CharDevice",
                "Directory",
                "DirectoryOrCreate",
                "File",
                "FileOrCreate",
                "Socket",
            ),
        ),
    ),
    obj(
        C + "EmptyDirVolumeSource",
        "An empty directory created for the pod.",
        medium=f(
            named(STR, "v1.StorageMedium"), 'Storage medium: "" for the node\'s default or Memory for tmpfs.'
        ),
        sizeLimit=f(QTY, "Most local storage the directory may use."),
    ),
    obj(
        C + "SecretVolumeSource",
        "Projects the keys of a Secret as files.",
        secretName=f(STR, "Name of the Secret in the pod's namespace."),
        items=f(arr(ref(C + "KeyToPath")), "Keys to project and their paths; all keys when empty."),
        defaultMode=f(I32, _DEFAULT_MODE),
        optional=f(BOOL, "Whether the Secret or its keys may be missing."),
    ),
    obj(
        C + "ConfigMapVolumeSource",
        "Projects the keys of a ConfigMap as files.",
        name=f(STR, "Name of the ConfigMap in the pod's namespace.", default=""),
        items=f(arr(ref(C + "KeyToPath")), "Keys to project and their paths; all keys when empty."),
        defaultMode=f(I32, _DEFAULT_MODE),
        optional=f(BOOL, "Whether the ConfigMap or its keys may be missing."),
    ),
    obj(
        C + "KeyToPath",
        "Maps one key to a file path.",
        key=f(STR, "The key to project.", required=True),
        path=f(STR, "Relative file path; must not contain '..'.", required=True),
        mode=f(I32, "Permission bits of this file, 0000-0777; defaults to the volume's defaultMode."),
    ),
    obj(
        C + "PersistentVolumeClaimVolumeSource",
        "Mounts the volume bound to a PersistentVolumeClaim.",
        claimName=f(STR, "Name of the claim in the pod's namespace.", required=True),
        readOnly=f(BOOL, "Force a read-only mount."),
    ),
    obj(
        C + "DownwardAPIVolumeSource",
        "Pod fields and container resources written to files.",
        items=f(arr(ref(C + "DownwardAPIVolumeFile")), "The files to create."),
        defaultMode=f(I32, _DEFAULT_MODE),
    ),
    obj(
        C + "DownwardAPIVolumeFile",
        "One downward API file.",
        path=f(STR, "Relative file path; must not contain '..'.", required=True),
        fieldRef=opt(
            C + "ObjectFieldSelector",
            "A pod field: metadata.name, metadata.namespace, metadata.uid, "
            "metadata.labels or metadata.annotations.",
        ),
        resourceFieldRef=opt(C + "ResourceFieldSelector", "A container resource limit or request."),
        mode=f(I32, "Permission bits of this file, 0000-0777."),
    ),
    obj(
        C + "ProjectedVolumeSource",
        "Several volume sources merged into one directory.",
        sources=f(arr(ref(C + "VolumeProjection")), "The sources to project."),
        defaultMode=f(I32, _DEFAULT_MODE),
    ),
    obj(
        C + "VolumeProjection",
        "One projected source; exactly one field may be set.",
        secret=opt(C + "SecretProjection", "Keys of a Secret."),
        downwardAPI=opt(C + "DownwardAPIProjection", "Pod fields and container resources."),
        configMap=opt(C + "ConfigMapProjection", "Keys of a ConfigMap."),
        serviceAccountToken=opt(C + "ServiceAccountTokenProjection", "A bound service account token."),
        clusterTrustBundle=opt(C + "ClusterTrustBundleProjection", "Certificates from ClusterTrustBundles."),
    ),
    obj(
        C + "SecretProjection",
        "Projects keys of a Secret.",
        name=f(STR, "Name of the Secret.", default=""),
        items=f(arr(ref(C + "KeyToPath")), "Keys to project; all keys when empty."),
        optional=f(BOOL, "Whether the Secret or its keys may be missing."),
    ),
    obj(
        C + "ConfigMapProjection",
        "Projects keys of a ConfigMap.",
        name=f(STR, "Name of the ConfigMap.", default=""),
        items=f(arr(ref(C + "KeyToPath")), "Keys to project; all keys when empty."),
        optional=f(BOOL, "Whether the ConfigMap or its keys may be missing."),
    ),
    obj(
        C + "DownwardAPIProjection",
        "Projects pod fields and container resources.",
        items=f(arr(ref(C + "DownwardAPIVolumeFile")), "The files to create."),
    ),
    obj(
        C + "ServiceAccountTokenProjection",
        "A token for the pod's service account, refreshed by the kubelet.",
        audience=f(STR, "Intended audience of the token; defaults to the API server."),
        expirationSeconds=f(I64, "Requested lifetime in seconds; at least 600. Defaults to one hour."),
        path=f(STR, "Relative file path for the token.", required=True),
    ),
    obj(
        C + "ClusterTrustBundleProjection",
        "Certificates from ClusterTrustBundle objects written to one file.",
        name=f(STR, "A single ClusterTrustBundle by name."),
        signerName=f(STR, "All bundles of this signer that match the label selector."),
        labelSelector=opt(META + "LabelSelector", "Bundles to include, with signerName."),
        optional=f(BOOL, "Whether a missing bundle is allowed."),
        path=f(STR, "Relative file path.", required=True),
    ),
    obj(
        C + "CSIVolumeSource",
        "An ephemeral volume provided by a CSI driver.",
        driver=f(STR, "Name of the CSI driver.", required=True),
        readOnly=f(BOOL, "Mount read-only."),
        fsType=f(STR, _FS_TYPE),
        volumeAttributes=f(STRMAP, "Driver-specific properties."),
        nodePublishSecretRef=opt(C + "LocalObjectReference", "Secret passed to the driver's publish calls."),
    ),
    obj(
        C + "EphemeralVolumeSource",
        "A volume claim created from a template for the pod and deleted with it.",
        volumeClaimTemplate=opt(C + "PersistentVolumeClaimTemplate", "Template of the claim to create."),
    ),
    obj(
        C + "PersistentVolumeClaimTemplate",
        "Template of a PersistentVolumeClaim.",
        metadata=sub(META + "ObjectMeta", "Labels and annotations for the claim."),
        spec=sub(C + "PersistentVolumeClaimSpec", "Spec of the claim.", required=True),
    ),
    obj(
        C + "PersistentVolumeClaimSpec",
        "The storage a claim requests.",
        accessModes=f(
            named(arr(STR), "[]v1.PersistentVolumeAccessMode"), "Access modes such as ReadWriteOnce."
        ),
        selector=opt(META + "LabelSelector", "Volumes eligible for binding."),
        resources=sub(C + "VolumeResourceRequirements", "Minimum resources the volume must have."),
        volumeName=f(STR, "A specific PersistentVolume to bind to."),
        storageClassName=f(STR, "The StorageClass to provision from."),
        volumeMode=f(named(STR, "v1.PersistentVolumeMode"), "Filesystem or Block."),
        dataSource=opt(C + "TypedLocalObjectReference", "An object to pre-populate the volume from."),
        dataSourceRef=opt(
            C + "TypedObjectReference",
            "An object, possibly in another namespace, to pre-populate the volume from.",
        ),
        volumeAttributesClassName=f(STR, "The VolumeAttributesClass for the volume."),
    ),
    obj(
        C + "VolumeResourceRequirements",
        "Storage requests and limits.",
        limits=f(RESOURCES, "The most storage allowed."),
        requests=f(RESOURCES, "The least storage required."),
    ),
    obj(
        C + "TypedLocalObjectReference",
        "An object in the same namespace, with its kind.",
        atomic=True,
        apiGroup=f(STR, "API group of the object; empty for the core group."),
        kind=f(STR, "Kind of the object.", required=True),
        name=f(STR, "Name of the object.", required=True),
    ),
    obj(
        C + "TypedObjectReference",
        "An object with its kind, possibly in another namespace.",
        apiGroup=f(STR, "API group of the object; empty for the core group."),
        kind=f(STR, "Kind of the object.", required=True),
        name=f(STR, "Name of the object.", required=True),
        namespace=f(STR, "Namespace of the object, when it differs from the claim's."),
    ),
    obj(
        C + "ImageVolumeSource",
        "An OCI image or artifact mounted read-only.",
        reference=f(STR, "The image or artifact reference."),
        pullPolicy=f(
            named(STR, "v1.PullPolicy"),
            "When to pull: Always, Never or IfNotPresent.",
            enum=("Always", "IfNotPresent", "Never"),
        ),
    ),
    obj(
        C + "LocalObjectReference",
        "A reference to an object by name in the same namespace.",
        atomic=True,
        name=f(STR, "Name of the referent.", default=""),
    ),
]

# Plugins that are deprecated or cloud specific: complete so manifests that use them decode and patch.
LEGACY = [
    obj(
        C + "GCEPersistentDiskVolumeSource",
        "A GCE persistent disk.",
        pdName=f(STR, "Name of the disk.", required=True),
        fsType=f(STR, _FS_TYPE),
        partition=f(I32, "Partition to mount; the whole disk when 0."),
        readOnly=f(BOOL, _READ_ONLY),
    ),
    obj(
        C + "AWSElasticBlockStoreVolumeSource",
        "An AWS EBS volume.",
        volumeID=f(STR, "ID of the EBS volume.", required=True),
        fsType=f(STR, _FS_TYPE),
        partition=f(I32, "Partition to mount; the whole volume when 0."),
        readOnly=f(BOOL, _READ_ONLY),
    ),
    obj(
        C + "GitRepoVolumeSource",
        "A git repository cloned into a directory.",
        repository=f(STR, "Repository URL.", required=True),
        revision=f(STR, "Commit to check out."),
        directory=f(STR, "Target directory name; '.' clones into the volume root."),
    ),
    obj(
        C + "NFSVolumeSource",
        "An NFS export.",
        server=f(STR, "Hostname or IP of the NFS server.", required=True),
        path=f(STR, "Path exported by the server.", required=True),
        readOnly=f(BOOL, _READ_ONLY),
    ),
    obj(
        C + "ISCSIVolumeSource",
        "An iSCSI disk.",
        targetPortal=f(STR, "Target portal as IP or ip:port.", required=True),
        iqn=f(STR, "Target iSCSI qualified name.", required=True),
        lun=f(I32, "Target LUN number.", required=True),
        iscsiInterface=f(STR, "iSCSI interface name; defaults to default."),
        fsType=f(STR, _FS_TYPE),
        readOnly=f(BOOL, _READ_ONLY),
        portals=f(arr(STR), "Extra target portals."),
        chapAuthDiscovery=f(BOOL, "Use CHAP authentication for discovery."),
        chapAuthSession=f(BOOL, "Use CHAP authentication for the session."),
        secretRef=opt(C + "LocalObjectReference", "Secret with the CHAP credentials."),
        initiatorName=f(STR, "Custom initiator name."),
    ),
    obj(
        C + "GlusterfsVolumeSource",
        "A GlusterFS volume.",
        endpoints=f(STR, "Endpoints object with the Gluster servers.", required=True),
        path=f(STR, "Gluster volume path.", required=True),
        readOnly=f(BOOL, _READ_ONLY),
    ),
    obj(
        C + "RBDVolumeSource",
        "A Rados block device.",
        monitors=f(arr(STR), "Ceph monitors.", required=True),
        image=f(STR, "RBD image name.", required=True),
        fsType=f(STR, _FS_TYPE),
        pool=f(STR, "RADOS pool; defaults to rbd."),
        user=f(STR, "RADOS user; defaults to admin."),
        keyring=f(STR, "Path of the keyring file."),
        secretRef=opt(C + "LocalObjectReference", _SECRET_REF),
        readOnly=f(BOOL, _READ_ONLY),
    ),
    obj(
        C + "FlexVolumeSource",
        "A volume from an exec-based plugin.",
        driver=f(STR, "Name of the driver.", required=True),
        fsType=f(STR, _FS_TYPE),
        secretRef=opt(C + "LocalObjectReference", _SECRET_REF),
        readOnly=f(BOOL, _READ_ONLY),
        options=f(STRMAP, "Extra driver options."),
    ),
    obj(
        C + "CinderVolumeSource",
        "An OpenStack Cinder volume.",
        volumeID=f(STR, "ID of the volume.", required=True),
        fsType=f(STR, _FS_TYPE),
        readOnly=f(BOOL, _READ_ONLY),
        secretRef=opt(C + "LocalObjectReference", _SECRET_REF),
    ),
    obj(
        C + "CephFSVolumeSource",
        "A CephFS mount.",
        monitors=f(arr(STR), "Ceph monitors.", required=True),
        path=f(STR, "Path to mount; defaults to /."),
        user=f(STR, "RADOS user; defaults to admin."),
        secretFile=f(STR, "Path of the keyring file."),
        secretRef=opt(C + "LocalObjectReference", _SECRET_REF),
        readOnly=f(BOOL, _READ_ONLY),
    ),
    obj(
        C + "FlockerVolumeSource",
        "A Flocker dataset.",
        datasetName=f(STR, "Dataset name."),
        datasetUUID=f(STR, "Dataset UUID."),
    ),
    obj(
        C + "FCVolumeSource",
        "A Fibre Channel disk.",
        targetWWNs=f(arr(STR), "Target world wide names."),
        lun=f(I32, "Target LUN number."),
        fsType=f(STR, _FS_TYPE),
        readOnly=f(BOOL, _READ_ONLY),
        wwids=f(arr(STR), "Volume world wide identifiers; exclusive with targetWWNs and lun."),
    ),
    obj(
        C + "AzureFileVolumeSource",
        "An Azure File share.",
        secretName=f(STR, "Secret with the storage account name and key.", required=True),
        shareName=f(STR, "Share name.", required=True),
        readOnly=f(BOOL, _READ_ONLY),
    ),
    obj(
        C + "VsphereVirtualDiskVolumeSource",
        "A vSphere disk.",
        volumePath=f(STR, "Path of the disk.", required=True),
        fsType=f(STR, _FS_TYPE),
        storagePolicyName=f(STR, "Storage policy name."),
        storagePolicyID=f(STR, "Storage policy ID."),
    ),
    obj(
        C + "QuobyteVolumeSource",
        "A Quobyte mount.",
        registry=f(STR, "Registry services as host:port pairs.", required=True),
        volume=f(STR, "Volume name.", required=True),
        readOnly=f(BOOL, _READ_ONLY),
        user=f(STR, "User to map access to."),
        group=f(STR, "Group to map access to."),
        tenant=f(STR, "Tenant owning the volume."),
    ),
    obj(
        C + "AzureDiskVolumeSource",
        "An Azure data disk.",
        diskName=f(STR, "Name of the disk.", required=True),
        diskURI=f(STR, "URI of the disk.", required=True),
        cachingMode=f(
            named(STR, "v1.AzureDataDiskCachingMode"), "Host caching mode: None, ReadOnly or ReadWrite."
        ),
        fsType=f(STR, _FS_TYPE),
        readOnly=f(BOOL, _READ_ONLY),
        kind=f(named(STR, "v1.AzureDataDiskKind"), "Shared, Dedicated or Managed."),
    ),
    obj(
        C + "PhotonPersistentDiskVolumeSource",
        "A Photon persistent disk.",
        pdID=f(STR, "ID of the disk.", required=True),
        fsType=f(STR, _FS_TYPE),
    ),
    obj(
        C + "PortworxVolumeSource",
        "A Portworx volume.",
        volumeID=f(STR, "ID of the volume.", required=True),
        fsType=f(STR, _FS_TYPE),
        readOnly=f(BOOL, _READ_ONLY),
    ),
    obj(
        C + "ScaleIOVolumeSource",
        "A ScaleIO volume.",
        gateway=f(STR, "Gateway address.", required=True),
        system=f(STR, "Storage system name.", required=True),
        secretRef=opt(C + "LocalObjectReference", _SECRET_REF, required=True),
        sslEnabled=f(BOOL, "Use TLS to the gateway."),
        protectionDomain=f(STR, "Protection domain."),
        storagePool=f(STR, "Storage pool."),
        storageMode=f(STR, "ThickProvisioned or ThinProvisioned."),
        volumeName=f(STR, "Name of an existing volume."),
        fsType=f(STR, _FS_TYPE),
        readOnly=f(BOOL, _READ_ONLY),
    ),
    obj(
        C + "StorageOSVolumeSource",
        "A StorageOS volume.",
        volumeName=f(STR, "Volume name within the namespace."),
        volumeNamespace=f(STR, "StorageOS namespace; defaults to the pod's."),
        fsType=f(STR, _FS_TYPE),
        readOnly=f(BOOL, _READ_ONLY),
        secretRef=opt(C + "LocalObjectReference", _SECRET_REF),
    ),
]

VOLUMES: list[Component] = [*COMMON, *LEGACY]
