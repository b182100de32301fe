#nullable enable
// MSBuild task, compiled by RoslynCodeTaskFactory from Directory.Build.targets, so that a fresh
// clone needs nothing but the .NET SDK.
//
// Why: the libLibTorchSharp.so shipped on NuGet asks for GLIBCXX_3.4.32 (GCC 13's libstdc++)
// only because of the link anchor _ZSt21ios_base_library_initv, which nothing calls. Debian 12
// ships 3.4.30 and the loader refuses the library. Marking a version requirement VER_FLG_WEAK
// turns "missing version" from a load error into nothing; a symbol that is really used and
// really missing still fails at relocation, so nothing wrong can run silently.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WeakenMissingVersionNeeds : Task
{
    const uint ShtGnuVerdef = 0x6ffffffd;
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Folders searched for the libraries a file needs, after the file's own folder.</summary>
    public string SystemLibraryDirs { get; set; } =
        "/lib/x86_64-linux-gnu;/usr/lib/x86_64-linux-gnu;/lib64;/usr/lib64;/lib;/usr/lib;/lib/aarch64-linux-gnu;/usr/lib/aarch64-linux-gnu";

    public override bool Execute()
    {
        foreach (var item in Files)
        {
            var path = item.ItemSpec;
            try { Patch(path); }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException)
            {
                Log.LogError($"Cannot patch version needs of '{path}': {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    void Patch(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != 'E' || bytes[2] != 'L' || bytes[3] != 'F')
            throw new InvalidDataException("not an ELF file");
        if (bytes[4] != 2 || bytes[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF is supported");

        var verneed = FindSection(bytes, ShtGnuVerneed);
        if (verneed is null) return;
        var (needOffset, needCount, needStrtab) = verneed.Value;

        var changed = new List<string>();
        var searchDirs = new List<string> { Path.GetDirectoryName(Path.GetFullPath(path))! };
        searchDirs.AddRange(SystemLibraryDirs.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries));

        long need = needOffset;
        for (var i = 0; i < needCount; i++)
        {
            var count = U16(bytes, need + 2);
            var file = CString(bytes, needStrtab + U32(bytes, need + 4));
            var provided = DefinedVersions(FindLibrary(file, searchDirs));
            long aux = need + U32(bytes, need + 8);
            for (var j = 0; j < count; j++)
            {
                var flags = U16(bytes, aux + 4);
                var name = CString(bytes, needStrtab + U32(bytes, aux + 8));
                if (provided is not null && !provided.Contains(name) && (flags & VerFlgWeak) == 0)
                {
                    W16(bytes, aux + 4, (ushort)(flags | VerFlgWeak));
                    changed.Add($"{file}:{name}");
                }
                aux += U32(bytes, aux + 12);
            }
            need += U32(bytes, need + 12);
        }

        if (changed.Count == 0) return;
        // Write beside and rename: never modify a file that may be hard-linked into the package cache.
        var temp = path + ".weakening";
        File.WriteAllBytes(temp, bytes);
        File.Delete(path);
        File.Move(temp, path);
        Log.LogMessage(MessageImportance.High, $"{Path.GetFileName(path)}: marked weak (missing on this system): {string.Join(", ", changed)}");
    }

    static string? FindLibrary(string file, List<string> dirs)
    {
        foreach (var dir in dirs)
        {
            var candidate = Path.Combine(dir, file);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    static HashSet<string>? DefinedVersions(string? library)
    {
        if (library is null) return null; // unknown library: leave its requirements alone
        var bytes = File.ReadAllBytes(library);
        var verdef = FindSection(bytes, ShtGnuVerdef);
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (verdef is null) return names;
        var (offset, count, strtab) = verdef.Value;
        long def = offset;
        for (var i = 0; i < count; i++)
        {
            long aux = def + U32(bytes, def + 12);
            var auxCount = U16(bytes, def + 6);
            for (var j = 0; j < auxCount; j++)
            {
                names.Add(CString(bytes, strtab + U32(bytes, aux)));
                aux += U32(bytes, aux + 4);
            }
            def += U32(bytes, def + 16);
        }
        return names;
    }

    /// <summary>Offset and entry count (sh_info) of the first section of a type, and the file offset of its linked string table.</summary>
    static (long Offset, uint Count, long Strtab)? FindSection(byte[] bytes, uint type)
    {
        var shoff = (long)U64(bytes, 0x28);
        var shentsize = U16(bytes, 0x3A);
        var shnum = U16(bytes, 0x3C);
        for (var i = 0; i < shnum; i++)
        {
            var sh = shoff + (long)i * shentsize;
            if (U32(bytes, sh + 4) != type) continue;
            var link = U32(bytes, sh + 40);
            var strtab = (long)U64(bytes, shoff + (long)link * shentsize + 24);
            return ((long)U64(bytes, sh + 24), U32(bytes, sh + 44), strtab);
        }
        return null;
    }

    static ushort U16(byte[] b, long o) => BitConverter.ToUInt16(b, checked((int)o));
    static uint U32(byte[] b, long o) => BitConverter.ToUInt32(b, checked((int)o));
    static ulong U64(byte[] b, long o) => BitConverter.ToUInt64(b, checked((int)o));
    static void W16(byte[] b, long o, ushort v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }

    static string CString(byte[] b, long o)
    {
        var end = o;
        while (b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)o, (int)(end - o));
    }
}
